package stacktest

import (
	"net/http"
	"os"
	"testing"
)

func TestStartRegistryKillRestart(t *testing.T) {
	for _, kind := range RegistryKinds {
		t.Run(string(kind), func(t *testing.T) {
			r := StartRegistry(t, kind)
			get := func() error {
				resp, err := http.Get("http://" + r.Host + "/v2/")
				if err == nil {
					resp.Body.Close()
				}
				return err
			}
			if err := get(); err != nil {
				t.Fatalf("started registry does not answer: %v", err)
			}
			r.Kill()
			if err := get(); err == nil {
				t.Fatal("a killed registry still answers")
			}
			r.Start(t)
			if err := get(); err != nil {
				t.Fatalf("restarted registry does not answer: %v", err)
			}
		})
	}
}

func TestRegistryBinFromEnvFile(t *testing.T) {
	dir := t.TempDir()
	writeEnv := func(s string) {
		if err := writeFileForTest(dir+"/env.sh", s); err != nil {
			t.Fatal(err)
		}
	}
	writeEnv("export MLATTEST_REGISTRY_BIN=/x/registry\nexport MLATTEST_OCI_REGISTRY_BIN=/x/oci\n")
	env := map[string]string{"MLATTEST_REGISTRY_STATE": dir}
	getenv := func(k string) string { return env[k] }
	for kind, want := range map[RegistryKind]string{Distribution: "/x/registry", OCIRegistry: "/x/oci"} {
		if got, err := registryBin(getenv, kind); err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", kind, got, err, want)
		}
	}
	env["MLATTEST_OCI_REGISTRY_BIN"] = "/y/oci"
	if got, _ := registryBin(getenv, OCIRegistry); got != "/y/oci" {
		t.Errorf("the environment does not win over env.sh: %q", got)
	}
	writeEnv("export MLATTEST_REGISTRY_BIN=/x/registry\n")
	if _, err := registryBin(func(k string) string { return map[string]string{"MLATTEST_REGISTRY_STATE": dir}[k] }, OCIRegistry); err == nil {
		t.Error("a missing variable is not an error")
	}
}

func writeFileForTest(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
