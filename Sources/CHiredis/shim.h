#ifndef BATON_CHIREDIS_SHIM_H
#define BATON_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
