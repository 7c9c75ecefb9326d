"""The program's components; each child is parented to its component."""
