"""`cl server`: the HTTP application serving a repository (sync endpoints
behind bearer tokens)."""
