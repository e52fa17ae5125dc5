#include "intel/intel.h"
