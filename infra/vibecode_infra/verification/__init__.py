"""What the verification chain knows beyond single objects: the cluster the program will
produce (ours, what each named Helm release renders, what the operators create), and the rules
that hold across it (references, URLs, Pod Security, network flows, ownership)."""
