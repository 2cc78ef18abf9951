#ifndef BATON_CMARIADB_SHIM_H
#define BATON_CMARIADB_SHIM_H
#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#endif
