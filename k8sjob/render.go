package k8sjob

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Objects are the objects in the order to apply them: the service account
// (when rendered), the workers, the merge.
func (s *Set) Objects() []runtime.Object {
	var objs []runtime.Object
	if s.ServiceAccount != nil {
		objs = append(objs, s.ServiceAccount)
	}
	return append(objs, s.Workers, s.Merge)
}

// YAML writes the objects as one multi-document YAML stream, as
// "kubectl apply -f" reads it.
func (s *Set) YAML() ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range s.Objects() {
		b, err := yaml.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("k8sjob: rendering %s: %w", o.GetObjectKind().GroupVersionKind().Kind, err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}
