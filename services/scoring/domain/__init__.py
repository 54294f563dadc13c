"""Pure scoring rules: no pymongo, nameko or grpc imports."""
