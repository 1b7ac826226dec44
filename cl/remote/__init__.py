"""Moving objects and refs between any two stores: the sync protocol, its
frames, negotiation, merges of diverged heads, and the transports (pipe,
SSH, HTTP).  Knows objects and refs only; see docs/protocol.md."""
