"""Storage: the MongoDB dependency and stores, the embedded nx-27017 server, subtrees, paging."""
