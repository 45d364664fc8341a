package sandbox

// Arguments of the tools Environment runs: their flags, not mlattest's.
var (
	argsGPUQuery  = []string{"--query-gpu=name,driver_version", "--format=csv,noheader"}
	argsVersion   = []string{"--version"}
	argsPipFreeze = []string{"-m", "pip", "freeze"}
)
