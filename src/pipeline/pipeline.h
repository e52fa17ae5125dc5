// Pipeline: wires inputs -> parsers -> detectors -> de-duplication -> alert sinks.
#pragma once
