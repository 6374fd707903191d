/*
 * A stand-in for RDS for MySQL's AWSAuthenticationPlugin, for MariaDB's
 * server plugin API: a server authentication plugin of that name that asks
 * the client for the password in clear text, as the real one does, and
 * refuses every login. It exists so that the statement
 *
 *   CREATE USER ... IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL
 *
 * runs on a real MariaDB server, which otherwise answers
 * "Plugin 'AWSAuthenticationPlugin' is not loaded".
 *
 * Built by the tests (tests/it/support/bare_mariadb.rs) with
 *   cc -shared -fPIC -DMYSQL_DYNAMIC_PLUGIN -I/usr/include/mariadb/server \
 *      -o aws_authentication_plugin.so aws_authentication_plugin.c
 * against the headers of Debian's libmariadbd-dev.
 */
#include <mysql/plugin_auth.h>

/* Reads the client's password, so that the client sees the server's
   refusal rather than a broken connection, then refuses. */
static int refuse_every_login(MYSQL_PLUGIN_VIO *vio, MYSQL_SERVER_AUTH_INFO *info)
{
  unsigned char *password;
  info->password_used = PASSWORD_USED_YES;
  if (vio->read_packet(vio, &password) < 0)
    return CR_ERROR;
  return CR_ERROR;
}

static struct st_mysql_auth aws_authentication_plugin = {
  MYSQL_AUTHENTICATION_INTERFACE_VERSION,
  "mysql_clear_password",
  refuse_every_login,
  NULL, /* hash_password: no passwords are set for these accounts */
  NULL  /* preprocess_hash: the authentication string is kept as it is */
};

maria_declare_plugin(aws_authentication_plugin)
{
  MYSQL_AUTHENTICATION_PLUGIN,
  &aws_authentication_plugin,
  "AWSAuthenticationPlugin",
  "rds-auth-token tests",
  "Test stand-in for RDS for MySQL's IAM authentication plugin; refuses every login",
  PLUGIN_LICENSE_GPL,
  NULL,
  NULL,
  0x0100,
  NULL,
  NULL,
  "1.0",
  MariaDB_PLUGIN_MATURITY_STABLE
}
maria_declare_plugin_end;
