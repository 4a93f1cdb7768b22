package helm

import "testing"

func TestSmoke(t *testing.T) {
	m, err := render(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(m)
	decode(t, m)
	m, err = render(t, valuesFile(t, "values-full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	t.Log(m)
	decode(t, m)
}
