"""mims-bridge: SCIM 2.0 server, OpenLDAP writer and self-service password reset for MIMS.

The web app is ``bridge.app.create_app``; importing this package loads nothing else, so the
``mims`` command starts without the web stack it does not need.
"""
