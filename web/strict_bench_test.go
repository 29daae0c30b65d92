package web

import "testing"

func BenchmarkCheckJSONObject(b *testing.B) {
	body := []byte(`{"operationName":"Todos","query":"query Todos($first: Int, $after: String) { todos(first: $first, after: $after) { edges { cursor node { id title done createdAt updatedAt } } pageInfo { hasNextPage endCursor } } }","variables":{"first":20}}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := checkJSONObject(body, requestMembers); err != nil {
			b.Fatal(err)
		}
	}
}
