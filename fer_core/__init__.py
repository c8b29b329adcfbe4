"""FER Lens: a FER2013 facial-expression CNN you can see inside. The packages and what each may import:
docs/architecture.md."""
