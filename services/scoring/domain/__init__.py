"""Pure scoring rules: no pymongo, nameko or grpc imports, no clock reads (today and now are passed in)."""
