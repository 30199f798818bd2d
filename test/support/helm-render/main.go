// helm-render: renders a Helm chart the way `helm template` does, for tests on machines without Helm (Debian has no
// helm package). Go's text/template with the sprig functions (Helm's own template language), plus Helm's own:
// include, tpl, required, toYaml, fromYaml, .Files.Get/.Glob, .Release, .Chart and .Values (values.yaml, then the
// overrides given, merged as `--set`/`-f` merge them). Built by test/support/helm.ts from Debian's golang-go and
// golang-github-masterminds-sprig-dev, with no network.
//
//	helm-render CHART_DIR OVERRIDES_JSON RELEASE_NAME
//
// prints every rendered template as "# Source: <path>\n<text>\n---\n", NOTES.txt last, and exits 1 on any error.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig/v3"
	yaml "gopkg.in/yaml.v3"
)

// normalize turns YAML's maps into map[string]interface{}, as Helm's values are.
func normalize(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, x := range t {
			t[k] = normalize(x)
		}
		return t
	case map[interface{}]interface{}:
		m := map[string]interface{}{}
		for k, x := range t {
			m[fmt.Sprint(k)] = normalize(x)
		}
		return m
	case []interface{}:
		for i, x := range t {
			t[i] = normalize(x)
		}
		return t
	}
	return v
}

// coalesce merges overrides into base (maps recursively; anything else replaced), as Helm merges value files.
func coalesce(base, over map[string]interface{}) map[string]interface{} {
	for k, v := range over {
		if bm, ok := base[k].(map[string]interface{}); ok {
			if om, ok := v.(map[string]interface{}); ok {
				base[k] = coalesce(bm, om)
				continue
			}
		}
		base[k] = v
	}
	return base
}

type files struct{ dir string }

func (f files) Get(name string) string {
	b, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil {
		return ""
	}
	return string(b)
}

func (f files) Glob(pattern string) map[string][]byte {
	out := map[string][]byte{}
	matches, _ := filepath.Glob(filepath.Join(f.dir, pattern))
	for _, m := range matches {
		rel, _ := filepath.Rel(f.dir, m)
		b, _ := os.ReadFile(m)
		out[filepath.ToSlash(rel)] = b
	}
	return out
}

func toYaml(v interface{}) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: helm-render CHART_DIR OVERRIDES_JSON RELEASE_NAME")
		os.Exit(2)
	}
	chartDir, overridesPath, release := os.Args[1], os.Args[2], os.Args[3]
	must := func(err error) {
		if err != nil {
			fmt.Fprintln(os.Stderr, "helm-render:", err)
			os.Exit(1)
		}
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		must(err)
		return b
	}
	var values map[string]interface{}
	must(yaml.Unmarshal(read(filepath.Join(chartDir, "values.yaml")), &values))
	values = normalize(values).(map[string]interface{})
	var overrides map[string]interface{}
	must(json.Unmarshal(read(overridesPath), &overrides))
	values = coalesce(values, overrides)
	var chart map[string]interface{}
	must(yaml.Unmarshal(read(filepath.Join(chartDir, "Chart.yaml")), &chart))
	top := map[string]interface{}{
		"Values":  values,
		"Release": map[string]interface{}{"Name": release, "Namespace": "default", "Service": "Helm", "IsInstall": true, "IsUpgrade": false},
		"Chart":   map[string]interface{}{"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
		"Files":   files{chartDir},
	}

	t := template.New("chart")
	funcs := sprig.TxtFuncMap()
	funcs["toYaml"] = toYaml
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		var m map[string]interface{}
		_ = yaml.Unmarshal([]byte(s), &m)
		return m
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := t.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		inner, err := t.Clone()
		if err != nil {
			return "", err
		}
		if _, err := inner.New("tpl").Parse(text); err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = inner.ExecuteTemplate(&buf, "tpl", data)
		return buf.String(), err
	}
	t.Funcs(funcs).Option("missingkey=zero")

	paths, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	must(err)
	sort.Strings(paths)
	for _, p := range paths {
		rel := path.Join("templates", filepath.Base(p))
		_, err := t.New(rel).Parse(string(read(p)))
		must(err)
	}
	var out bytes.Buffer
	var notes string
	for _, p := range paths {
		rel := path.Join("templates", filepath.Base(p))
		base := filepath.Base(p)
		if strings.HasPrefix(base, "_") {
			continue
		}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, rel, top); err != nil {
			must(fmt.Errorf("%s: %w", rel, err))
		}
		if base == "NOTES.txt" {
			notes = buf.String()
			continue
		}
		fmt.Fprintf(&out, "# Source: %s\n%s\n---\n", rel, buf.String())
	}
	fmt.Fprintf(&out, "# Source: templates/NOTES.txt\n%s\n", notes)
	os.Stdout.Write(out.Bytes())
}
