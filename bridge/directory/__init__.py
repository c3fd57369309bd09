"""The only package that speaks LDAP: the managed slapd, connections, and the stores."""
