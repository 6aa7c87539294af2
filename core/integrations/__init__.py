"""Provider specs and clients, one module per provider, behind one small interface per kind."""
