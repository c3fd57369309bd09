"""The domain core: plain Python rules, free of Flask and ldap3."""
