-- snapshot.lua: read a location's live state in one round trip. Read-only.
return cjson.encode(read_location())
