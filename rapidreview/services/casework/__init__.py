"""Case work: the steps of a case (start, complete, claim, act), its documents, forms and the service operators its process calls."""
