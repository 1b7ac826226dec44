"""Click commands: parse arguments, call one operation below, format the
result.  No logic, SQL, msgpack, filesystem walks or Docker calls here."""
