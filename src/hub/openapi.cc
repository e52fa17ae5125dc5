// The OpenAPI 3 document of the REST API (hub/rest_api.h), served at
// /api/v1/openapi.json. docs/openapi.json is a copy; a test keeps them identical and
// checks that this lists exactly the routes of RestRoutes().
#include "hub/rest_api.h"

namespace aegis::hub {

namespace {

constexpr std::string_view kOpenApi = R"openapi({
  "openapi": "3.0.3",
  "info": {
    "title": "Aegis threat-intelligence hub REST API",
    "version": "1.0.0",
    "description": "JSON API of an Aegis hub: organisations, users, API tokens, sessions, the audit log, STIX 2.1 collections, objects and bundles, the instance's own alerts, and Early Warning registrations and notifications. Every endpoint except this document and password sign-in needs credentials. Objects are filtered by the TLP 2.0 policy: an object the caller may not see is answered with 404, never 403. Lists are paginated with `limit` and the opaque `next` cursor of the previous page. Errors are {\"error\": \"...\", \"status\": N}. See docs/API.md.",
    "license": {"name": "Apache-2.0"}
  },
  "servers": [{"url": "/"}],
  "security": [{"bearerAuth": []}, {"basicAuth": []}, {"cookieAuth": []}],
  "tags": [
    {"name": "principal"}, {"name": "organisations"}, {"name": "users"}, {"name": "tokens"},
    {"name": "sessions"}, {"name": "audit"}, {"name": "intelligence"}, {"name": "alerts"}, {"name": "early-warning"}, {"name": "meta"}
  ],
  "paths": {
    "/api/v1/openapi.json": {
      "get": {
        "tags": ["meta"], "operationId": "getOpenApi", "summary": "This document",
        "description": "Public: it describes the interface, holds no data, and clients need it before they have credentials (code generation, discovery).",
        "security": [],
        "responses": {"200": {"description": "The OpenAPI 3 document", "content": {"application/json": {"schema": {"type": "object"}}}}}
      }
    },
    "/api/v1/me": {
      "get": {
        "tags": ["principal"], "operationId": "getMe", "summary": "The authenticated principal",
        "responses": {
          "200": {"description": "Who is calling", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Principal"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/api/v1/orgs": {
      "get": {
        "tags": ["organisations"], "operationId": "listOrgs", "summary": "List organisations",
        "description": "Admin. The national centre sees every organisation, others their own.",
        "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Next"}],
        "responses": {
          "200": {"description": "A page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OrganisationList"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"}
        }
      },
      "post": {
        "tags": ["organisations"], "operationId": "createOrg", "summary": "Create an organisation (national centre)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewOrganisation"}}}},
        "responses": {
          "201": {"description": "Created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Organisation"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/Unprocessable"}
        }
      }
    },
    "/api/v1/orgs/{id}": {
      "parameters": [{"$ref": "#/components/parameters/Id"}],
      "get": {
        "tags": ["organisations"], "operationId": "getOrg", "summary": "Get an organisation",
        "description": "Admin of that organisation or of the national centre; others get 404.",
        "responses": {
          "200": {"description": "The organisation", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Organisation"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      },
      "patch": {
        "tags": ["organisations"], "operationId": "patchOrg", "summary": "Change an organisation",
        "description": "Admin of that organisation or of the national centre. Only the national centre changes `type`.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OrganisationPatch"}}}},
        "responses": {
          "200": {"description": "The changed organisation", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Organisation"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/Unprocessable"}
        }
      },
      "delete": {
        "tags": ["organisations"], "operationId": "deleteOrg", "summary": "Delete an organisation (national centre)",
        "description": "Only an organisation without users.",
        "responses": {
          "204": {"description": "Deleted"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "422": {"$ref": "#/components/responses/Unprocessable"}
        }
      }
    },
    "/api/v1/users": {
      "get": {
        "tags": ["users"], "operationId": "listUsers", "summary": "List users",
        "description": "Admin: the users of the own organisation; the national centre all, or those of `org`.",
        "parameters": [
          {"name": "org", "in": "query", "required": false, "schema": {"type": "string"}, "description": "Organisation id"},
          {"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Next"}
        ],
        "responses": {
          "200": {"description": "A page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserList"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      },
      "post": {
        "tags": ["users"], "operationId": "createUser", "summary": "Create a user",
        "description": "Admin of the user's organisation (default: the caller's) or of the national centre.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewUser"}}}},
        "responses": {
          "201": {"description": "Created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/Unprocessable"}
        }
      }
    },
    "/api/v1/users/{id}": {
      "parameters": [{"$ref": "#/components/parameters/Id"}],
      "get": {
        "tags": ["users"], "operationId": "getUser", "summary": "Get a user (self or admin)",
        "responses": {
          "200": {"description": "The user", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      },
      "patch": {
        "tags": ["users"], "operationId": "patchUser", "summary": "Change a user's role or disable it",
        "description": "Admin of the user's organisation or of the national centre; not on oneself. Disabling revokes the user's tokens and sessions.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserPatch"}}}},
        "responses": {
          "200": {"description": "The changed user", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/Unprocessable"}
        }
      }
    },
    "/api/v1/users/{id}/password": {
      "parameters": [{"$ref": "#/components/parameters/Id"}],
      "post": {
        "tags": ["users"], "operationId": "setPassword", "summary": "Set a user's password",
        "description": "Oneself, proving `current_password`; or an admin of the user's organisation or of the national centre.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PasswordChange"}}}},
        "responses": {
          "204": {"description": "Changed"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/Unprocessable"}
        }
      }
    },
    "/api/v1/tokens": {
      "get": {
        "tags": ["tokens"], "operationId": "listTokens", "summary": "List API tokens",
        "description": "Own tokens; an admin (with admin scope) sees the tokens of the organisation, the national centre all. Never the secrets.",
        "parameters": [
          {"name": "user", "in": "query", "required": false, "schema": {"type": "string"}, "description": "Only this user's tokens"},
          {"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Next"}
        ],
        "responses": {
          "200": {"description": "A page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TokenList"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      },
      "post": {
        "tags": ["tokens"], "operationId": "createToken", "summary": "Issue an API token",
        "description": "For oneself, or (admin) for a user of the organisation. The scopes cannot exceed the caller's. The secret is in this answer only.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewToken"}}}},
        "responses": {
          "201": {"description": "Issued", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IssuedToken"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/Unprocessable"}
        }
      }
    },
    "/api/v1/tokens/{id}": {
      "parameters": [{"$ref": "#/components/parameters/Id"}],
      "delete": {
        "tags": ["tokens"], "operationId": "revokeToken", "summary": "Revoke an API token",
        "description": "An own token, or (admin) one of the organisation's.",
        "responses": {
          "204": {"description": "Revoked"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/v1/sessions": {
      "post": {
        "tags": ["sessions"], "operationId": "signIn", "summary": "Sign in with a password",
        "description": "Public. Sets the `aegis_session` cookie (HttpOnly, SameSite=Strict, Secure over TLS).",
        "security": [],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SignIn"}}}},
        "responses": {
          "201": {"description": "Signed in",
                  "headers": {"Set-Cookie": {"schema": {"type": "string"}, "description": "aegis_session=<secret>; Path=/; HttpOnly; SameSite=Strict"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Session"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/Unprocessable"}
        }
      }
    },
    "/api/v1/sessions/current": {
      "delete": {
        "tags": ["sessions"], "operationId": "signOut", "summary": "Sign out",
        "description": "Ends the session of the `aegis_session` cookie and clears the cookie.",
        "security": [{"cookieAuth": []}],
        "responses": {
          "204": {"description": "Signed out"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/api/v1/audit": {
      "get": {
        "tags": ["audit"], "operationId": "listAudit", "summary": "Read the audit log",
        "description": "Admin: the own organisation's entries, newest first; the national centre all, or those of `org`.",
        "parameters": [
          {"name": "org", "in": "query", "required": false, "schema": {"type": "string"}},
          {"name": "action", "in": "query", "required": false, "schema": {"type": "string"}, "description": "Action prefix, e.g. `token.`"},
          {"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Next"}
        ],
        "responses": {
          "200": {"description": "A page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AuditList"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/v1/collections": {
      "get": {
        "tags": ["intelligence"], "operationId": "listCollections", "summary": "List readable collections",
        "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Next"}],
        "responses": {
          "200": {"description": "A page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CollectionList"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"}
        }
      },
      "post": {
        "tags": ["intelligence"], "operationId": "createCollection", "summary": "Create a collection",
        "description": "Admin. Only the national centre may name writers other than its own organisation.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewCollection"}}}},
        "responses": {
          "201": {"description": "Created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Collection"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/Unprocessable"}
        }
      }
    },
    "/api/v1/objects": {
      "get": {
        "tags": ["intelligence"], "operationId": "listObjects", "summary": "List visible STIX objects of a collection",
        "description": "Latest version of each object the caller may see under TLP (read path `rest`), in the order they were added.",
        "parameters": [
          {"$ref": "#/components/parameters/Collection"},
          {"name": "type", "in": "query", "required": false, "schema": {"type": "string"}, "description": "STIX types, comma-separated"},
          {"name": "id", "in": "query", "required": false, "schema": {"type": "string"}, "description": "STIX ids, comma-separated"},
          {"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Next"}
        ],
        "responses": {
          "200": {"description": "A page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ObjectList"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/v1/objects/{id}": {
      "parameters": [{"$ref": "#/components/parameters/Id"}],
      "get": {
        "tags": ["intelligence"], "operationId": "getObject", "summary": "Latest visible version of a STIX object",
        "description": "404 when the object does not exist or the caller may not see it: the answer never reveals existence.",
        "parameters": [{"name": "collection", "in": "query", "required": false, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "The object", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ObjectEnvelope"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/v1/bundles": {
      "post": {
        "tags": ["intelligence"], "operationId": "importBundle", "summary": "Import a STIX bundle",
        "description": "Validates every object; valid ones are stored (produced by the caller's organisation), invalid ones are reported one by one.",
        "parameters": [{"$ref": "#/components/parameters/Collection"}],
        "requestBody": {"required": true, "content": {
          "application/json": {"schema": {"$ref": "#/components/schemas/Bundle"}},
          "application/stix+json": {"schema": {"$ref": "#/components/schemas/Bundle"}}}},
        "responses": {
          "200": {"description": "Per-object outcome", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImportResult"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/Unprocessable"}
        }
      }
    },
    "/api/v1/bundles/export": {
      "get": {
        "tags": ["intelligence"], "operationId": "exportBundle", "summary": "Export a collection as a STIX bundle",
        "description": "Latest versions the caller may see under TLP (read path `export`).",
        "parameters": [
          {"$ref": "#/components/parameters/Collection"},
          {"name": "type", "in": "query", "required": false, "schema": {"type": "string"}, "description": "STIX types, comma-separated"}
        ],
        "responses": {
          "200": {"description": "A STIX 2.1 bundle", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Bundle"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/v1/alerts": {
      "get": {
        "tags": ["alerts"], "operationId": "listAlerts", "summary": "List this instance's alerts",
        "description": "Members of the organisation that runs the instance; newest first.",
        "parameters": [
          {"name": "since_ns", "in": "query", "required": false, "schema": {"type": "integer", "format": "int64"}},
          {"name": "min_severity", "in": "query", "required": false, "schema": {"type": "string", "enum": ["informational", "low", "medium", "high", "critical"]}},
          {"name": "rule", "in": "query", "required": false, "schema": {"type": "string"}},
          {"name": "detector", "in": "query", "required": false, "schema": {"type": "string"}},
          {"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Next"}
        ],
        "responses": {
          "200": {"description": "A page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AlertList"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/v1/alerts/{id}": {
      "parameters": [{"$ref": "#/components/parameters/Id"}],
      "get": {
        "tags": ["alerts"], "operationId": "getAlert", "summary": "Get one alert",
        "description": "By id or unique id prefix.",
        "responses": {
          "200": {"description": "The alert", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Alert"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/v1/ew/registrations": {
      "get": {
        "tags": ["early-warning"], "operationId": "listRegistrations", "summary": "List Early Warning registrations",
        "description": "The IP ranges, domains and ASNs of the caller's organisation (an admin may name a managed one with `org`).",
        "parameters": [
          {"name": "org", "in": "query", "required": false, "schema": {"type": "string"}},
          {"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Next"}
        ],
        "responses": {
          "200": {"description": "A page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RegistrationList"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      },
      "post": {
        "tags": ["early-warning"], "operationId": "createRegistration", "summary": "Register an IP range, domain or ASN",
        "description": "Admin of the organisation or of the national centre. Private, bogon and reserved values are refused (422).",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewRegistration"}}}},
        "responses": {
          "201": {"description": "Registered", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Registration"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/Unprocessable"}
        }
      }
    },
    "/api/v1/ew/registrations/{id}": {
      "parameters": [{"$ref": "#/components/parameters/Id"}],
      "delete": {
        "tags": ["early-warning"], "operationId": "deleteRegistration", "summary": "Remove a registration",
        "responses": {
          "204": {"description": "Removed"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/v1/ew/notifications": {
      "get": {
        "tags": ["early-warning"], "operationId": "listNotifications", "summary": "List Early Warning notifications",
        "description": "The in-app notifications of the caller's organisation, newest first, each graded (source reliability A-F, credibility 1-6).",
        "parameters": [
          {"name": "org", "in": "query", "required": false, "schema": {"type": "string"}},
          {"name": "since_ns", "in": "query", "required": false, "schema": {"type": "integer", "format": "int64"}},
          {"name": "unacked", "in": "query", "required": false, "schema": {"type": "string", "enum": ["true", "false"]}},
          {"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Next"}
        ],
        "responses": {
          "200": {"description": "A page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NotificationList"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/v1/ew/notifications/{id}/ack": {
      "parameters": [{"$ref": "#/components/parameters/Id"}],
      "post": {
        "tags": ["early-warning"], "operationId": "ackNotification", "summary": "Acknowledge a notification",
        "description": "A notification of the caller's organisation; no body.",
        "responses": {
          "200": {"description": "The acknowledged notification", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Notification"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    }
  },
  "components": {
    "securitySchemes": {
      "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API token: `Authorization: Bearer aegis_tok_...`"},
      "basicAuth": {"type": "http", "scheme": "basic", "description": "User name and password, or user name and an API token as the password"},
      "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "aegis_session", "description": "Session from POST /api/v1/sessions"}
    },
    "parameters": {
      "Id": {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
      "Collection": {"name": "collection", "in": "query", "required": true, "schema": {"type": "string"}, "description": "Collection id or alias"},
      "Limit": {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "default": 100}, "description": "Page size; capped by the server (1000 by default)"},
      "Next": {"name": "next", "in": "query", "required": false, "schema": {"type": "string"}, "description": "Opaque cursor from the previous page"}
    },
    "responses": {
      "BadRequest": {"description": "Malformed request (not JSON, bad query parameter or cursor)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unauthorized": {"description": "No valid credentials", "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Forbidden": {"description": "Authenticated, but the role, token scope or organisation does not allow it", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NotFound": {"description": "No such resource, or none the caller may see", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Conflict": {"description": "It exists already, or is still in use", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "TooLarge": {"description": "Request body too large", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "UnsupportedMediaType": {"description": "Body is not sent as application/json", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unprocessable": {"description": "JSON, but a field is missing, of the wrong type or refused (the message names it)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    },
    "schemas": {
      "Error": {"type": "object", "required": ["error", "status"], "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}},
      "OrgType": {"type": "string", "enum": ["national-centre", "trust", "gp-practice", "supplier"]},
      "Role": {"type": "string", "enum": ["admin", "analyst", "read-only"]},
      "Scope": {"type": "string", "enum": ["read", "write", "admin"]},
      "Tlp": {"type": "string", "enum": ["TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"]},
      "Principal": {"type": "object", "properties": {
        "user_id": {"type": "string"}, "display_name": {"type": "string"},
        "org": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "type": {"$ref": "#/components/schemas/OrgType"}}},
        "role": {"$ref": "#/components/schemas/Role"},
        "scopes": {"type": "array", "items": {"$ref": "#/components/schemas/Scope"}},
        "can": {"type": "object", "properties": {"read": {"type": "boolean"}, "write": {"type": "boolean"}, "admin": {"type": "boolean"}}},
        "auth_method": {"type": "string", "description": "How this request authenticated (token, Basic password, Basic token, session)"},
        "credential_id": {"type": "string"}}},
      "Organisation": {"type": "object", "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "type": {"$ref": "#/components/schemas/OrgType"},
        "stix_identity": {"type": "string"},
        "amber_share_with": {"type": "array", "items": {"type": "string"}},
        "default_tlp": {"type": "string", "nullable": true},
        "anonymise_sightings": {"type": "boolean"}, "created_at": {"type": "string", "format": "date-time"}}},
      "NewOrganisation": {"type": "object", "additionalProperties": false, "required": ["id", "name", "type"], "properties": {
        "id": {"type": "string", "pattern": "^[a-z0-9-]{2,64}$"}, "name": {"type": "string"}, "type": {"$ref": "#/components/schemas/OrgType"},
        "amber_share_with": {"type": "array", "items": {"type": "string"}},
        "default_tlp": {"type": "string", "nullable": true, "description": "clear, green, amber, amber+strict or red"},
        "anonymise_sightings": {"type": "boolean"}}},
      "OrganisationPatch": {"type": "object", "additionalProperties": false, "properties": {
        "name": {"type": "string"}, "type": {"$ref": "#/components/schemas/OrgType"},
        "amber_share_with": {"type": "array", "items": {"type": "string"}},
        "default_tlp": {"type": "string", "nullable": true},
        "anonymise_sightings": {"type": "boolean"}}},
      "OrganisationList": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Organisation"}}, "more": {"type": "boolean"}, "next": {"type": "string"}}},
      "User": {"type": "object", "properties": {
        "id": {"type": "string"}, "org_id": {"type": "string"}, "display_name": {"type": "string"},
        "role": {"$ref": "#/components/schemas/Role"}, "disabled": {"type": "boolean"}, "has_password": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time"}}},
      "NewUser": {"type": "object", "additionalProperties": false, "required": ["id", "role"], "properties": {
        "id": {"type": "string"}, "org_id": {"type": "string"}, "display_name": {"type": "string"},
        "role": {"$ref": "#/components/schemas/Role"}, "password": {"type": "string", "format": "password"}}},
      "UserPatch": {"type": "object", "additionalProperties": false, "properties": {"role": {"$ref": "#/components/schemas/Role"}, "disabled": {"type": "boolean"}}},
      "UserList": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}, "more": {"type": "boolean"}, "next": {"type": "string"}}},
      "PasswordChange": {"type": "object", "additionalProperties": false, "required": ["password"], "properties": {
        "password": {"type": "string", "format": "password"}, "current_password": {"type": "string", "format": "password"}}},
      "Token": {"type": "object", "properties": {
        "id": {"type": "string"}, "user_id": {"type": "string"}, "org_id": {"type": "string"}, "name": {"type": "string"},
        "scopes": {"type": "array", "items": {"$ref": "#/components/schemas/Scope"}},
        "created_at": {"type": "string", "format": "date-time"},
        "expires_at": {"type": "string", "format": "date-time", "nullable": true},
        "revoked_at": {"type": "string", "format": "date-time", "nullable": true},
        "last_used_at": {"type": "string", "format": "date-time", "nullable": true}}},
      "IssuedToken": {"allOf": [{"$ref": "#/components/schemas/Token"}, {"type": "object", "required": ["secret"], "properties": {"secret": {"type": "string", "description": "Shown once; send as `Authorization: Bearer <secret>`"}}}]},
      "NewToken": {"type": "object", "additionalProperties": false, "properties": {
        "user_id": {"type": "string"}, "name": {"type": "string"},
        "scopes": {"type": "array", "items": {"$ref": "#/components/schemas/Scope"}},
        "ttl_seconds": {"type": "integer", "minimum": 1, "description": "Default 90 days"},
        "never_expires": {"type": "boolean", "description": "Admins only"}}},
      "TokenList": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Token"}}, "more": {"type": "boolean"}, "next": {"type": "string"}}},
      "SignIn": {"type": "object", "additionalProperties": false, "required": ["user", "password"], "properties": {"user": {"type": "string"}, "password": {"type": "string", "format": "password"}}},
      "Session": {"type": "object", "properties": {"session_id": {"type": "string"}, "user_id": {"type": "string"}, "org_id": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"}}},
      "AuditEntry": {"type": "object", "properties": {
        "seq": {"type": "integer", "format": "int64"}, "at": {"type": "string", "format": "date-time"},
        "actor_user": {"type": "string"}, "actor_org": {"type": "string"}, "remote": {"type": "string"},
        "action": {"type": "string"}, "target": {"type": "string"}, "outcome": {"type": "string", "enum": ["ok", "denied", "failed"]},
        "detail": {"type": "string"}}},
      "AuditList": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}}, "more": {"type": "boolean"}, "next": {"type": "string"}}},
      "Collection": {"type": "object", "properties": {
        "id": {"type": "string"}, "alias": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
        "can_read": {"type": "boolean"}, "can_write": {"type": "boolean"},
        "media_types": {"type": "array", "items": {"type": "string"}},
        "created_at": {"type": "string", "format": "date-time"},
        "readers": {"type": "array", "items": {"type": "string"}, "description": "Shown to the national centre and to writers"},
        "writers": {"type": "array", "items": {"type": "string"}}}},
      "NewCollection": {"type": "object", "additionalProperties": false, "required": ["title"], "properties": {
        "id": {"type": "string", "description": "UUID; generated when absent"}, "alias": {"type": "string"},
        "title": {"type": "string"}, "description": {"type": "string"},
        "readers": {"type": "array", "items": {"type": "string"}, "description": "\"*\", \"type:<org type>\" or organisation ids; default [\"*\"]"},
        "writers": {"type": "array", "items": {"type": "string"}, "description": "Default: the caller's organisation"}}},
      "CollectionList": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Collection"}}, "more": {"type": "boolean"}, "next": {"type": "string"}}},
      "StixObject": {"type": "object", "required": ["type", "id"], "properties": {"type": {"type": "string"}, "id": {"type": "string"}, "spec_version": {"type": "string"}}, "additionalProperties": true},
      "ObjectList": {"type": "object", "properties": {"objects": {"type": "array", "items": {"$ref": "#/components/schemas/StixObject"}}, "more": {"type": "boolean"}, "next": {"type": "string"}}},
      "ObjectEnvelope": {"type": "object", "properties": {
        "collection_id": {"type": "string"}, "version": {"type": "string"}, "date_added": {"type": "string", "format": "date-time"},
        "tlp": {"$ref": "#/components/schemas/Tlp"}, "producer_org": {"type": "string"},
        "object": {"$ref": "#/components/schemas/StixObject"}}},
      "Bundle": {"type": "object", "required": ["type", "id"], "properties": {
        "type": {"type": "string", "enum": ["bundle"]}, "id": {"type": "string"},
        "objects": {"type": "array", "items": {"$ref": "#/components/schemas/StixObject"}}}},
      "ImportOutcome": {"type": "object", "properties": {
        "outcome": {"type": "string", "enum": ["added", "duplicate", "failed", "rejected"]},
        "id": {"type": "string"}, "version": {"type": "string"}, "message": {"type": "string"}}},
      "ImportResult": {"type": "object", "properties": {
        "collection_id": {"type": "string"}, "bundle_id": {"type": "string"},
        "added": {"type": "integer"}, "duplicates": {"type": "integer"}, "failed": {"type": "integer"}, "rejected": {"type": "integer"},
        "objects": {"type": "array", "items": {"$ref": "#/components/schemas/ImportOutcome"}}}},
      "Alert": {"type": "object", "additionalProperties": true, "properties": {
        "id": {"type": "string"}, "severity": {"type": "string"}, "tlp": {"type": "string"}, "detector": {"type": "string"},
        "rule": {"type": "string"}, "title": {"type": "string"}}},
      "AlertList": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}, "more": {"type": "boolean"}, "next": {"type": "string"}}},
      "Registration": {"type": "object", "properties": {
        "id": {"type": "integer", "format": "int64"}, "org_id": {"type": "string"},
        "kind": {"type": "string", "enum": ["ip", "domain", "asn"]}, "value": {"type": "string"},
        "created_ns": {"type": "integer", "format": "int64"}, "created_by": {"type": "string"}}},
      "NewRegistration": {"type": "object", "additionalProperties": false, "required": ["kind", "value"], "properties": {
        "org_id": {"type": "string", "description": "Default: the caller's organisation"},
        "kind": {"type": "string", "enum": ["ip", "domain", "asn"]},
        "value": {"type": "string", "description": "\"81.2.69.0/24\", \"nhs-trust.nhs.uk\", \"AS5462\""}}},
      "RegistrationList": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Registration"}}, "more": {"type": "boolean"}, "next": {"type": "string"}}},
      "Notification": {"type": "object", "additionalProperties": true, "properties": {
        "id": {"type": "integer", "format": "int64"}, "org_id": {"type": "string"}, "kind": {"type": "string"},
        "object_id": {"type": "string"}, "object_type": {"type": "string"},
        "matched": {"type": "object", "properties": {"registration_id": {"type": "integer"}, "registration": {"type": "string"}, "observed": {"type": "string"}, "context": {"type": "string"}}},
        "summary": {"type": "string"}, "source": {"type": "string"}, "tlp": {"type": "string"}, "acked": {"type": "boolean"},
        "grade": {"type": "object", "description": "Admiralty grading", "properties": {"code": {"type": "string", "description": "e.g. B2"}, "reliability": {"type": "string"}, "credibility": {"type": "integer"}}}}},
      "NotificationList": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Notification"}}, "more": {"type": "boolean"}, "next": {"type": "string"}}}
    }
  }
}
)openapi";

}  // namespace

std::string_view OpenApiDocument() { return kOpenApi; }

}  // namespace aegis::hub
