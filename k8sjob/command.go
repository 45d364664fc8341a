package k8sjob

// The command lines the pods run: arguments to the mlattest binary in the
// image, so they spell its flags.

// workerCommand is the command line every worker pod runs; JOB_COMPLETION_INDEX
// and JOB_COMPLETIONS in its environment say which shard.
func (c *config) workerCommand(kind Kind, inputs []string, parts string) []string {
	cmd := []string{c.binary}
	switch kind {
	case Digest:
		cmd = append(cmd, "digest")
	case ScanData:
		cmd = append(cmd, "scan", "data")
	}
	cmd = append(cmd, "--part-out", parts)
	cmd = append(cmd, c.workerArgs...)
	return append(cmd, inputs...)
}

func (c *config) mergeCommand(parts string) []string {
	cmd := []string{c.binary, "merge"}
	if c.signStep != "" {
		cmd = append(cmd, "--step", c.signStep, "--sign-out", c.signOut, "--identity-token-file", TokenFile)
		if c.runID != "" {
			cmd = append(cmd, "--run-id", c.runID)
		}
	}
	return append(cmd, parts)
}
