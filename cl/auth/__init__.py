"""People and permissions of a served repository (CodaLab's model): users,
tokens, groups, owners and group permissions on bundle and worksheet refs,
and the policy a request's principal is checked against.  Storage is
cl/refs/access.py; the sync server (cl/remote/server.py) and, later, the
REST API and pages ask a Policy from here."""
