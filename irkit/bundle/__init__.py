"""Evidence bundles: streaming, sealed, signed, verifiable with stock tools."""
