package k8sjob_test

import (
	"fmt"
	"log"

	"github.com/mlattest/mlattest/k8sjob"
)

// Render a 4-pod digest of an S3 prefix under IRSA, merged and signed
// keylessly by the merge pod, and read the command lines the pods run.
func ExampleNew() {
	set, err := k8sjob.New(k8sjob.Digest, []string{"s3://datasets/mix/"}, "s3://scratch/run-7/",
		k8sjob.WithImage("registry.example/mlattest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
		k8sjob.WithShards(4),
		k8sjob.WithAWSRole("arn:aws:iam::123456789012:role/mlattest-digest"),
		k8sjob.WithName("mix"),
		k8sjob.WithSigning("digest-mix", "s3://attestations/run-7/"),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(set.ServiceAccount.Annotations)
	fmt.Println(*set.Workers.Spec.Completions, *set.Workers.Spec.CompletionMode)
	fmt.Println(set.Workers.Spec.Template.Spec.Containers[0].Command)
	fmt.Println(set.Merge.Spec.Template.Spec.Containers[0].Command)
	// Output:
	// map[eks.amazonaws.com/role-arn:arn:aws:iam::123456789012:role/mlattest-digest]
	// 4 Indexed
	// [mlattest digest --part-out s3://scratch/run-7/ s3://datasets/mix/]
	// [mlattest merge --step digest-mix --sign-out s3://attestations/run-7/ --identity-token-file /var/run/sigstore/token s3://scratch/run-7/]
}
