"""The gRPC side: the servicers generated from the operation table (``server``) and the compiled protos
(``build_protos``)."""
