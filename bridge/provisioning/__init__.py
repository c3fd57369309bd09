"""Downstream provisioning: carrying the directory's people out to other systems (issue 9).

Pure request builders and rules live here; they import neither Flask nor ldap3.
"""
