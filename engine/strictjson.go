package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// The file formats' JSON headers are decoded strictly. encoding/json alone
// matches a key to a struct field ignoring case ("sHape" fills Shape), keeps
// the last of two equal keys, and takes any trailing keys it does not know
// unless told otherwise: a file another tool would read differently, or a
// crafted one, would load. Here every key must be a field's JSON name
// spelled exactly, and appear once.

// jsonMember is one key and its value, as written.
type jsonMember struct {
	key   string
	value json.RawMessage
}

// decodeMembers decodes data, which must be one JSON object and nothing
// more, into its members in order, refusing a key that appears twice.
func decodeMembers(data []byte) ([]jsonMember, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil {
		return nil, jsonSyntaxError(err)
	} else if tok != json.Delim('{') {
		return nil, fmt.Errorf("want a JSON object, found %s", describeToken(tok))
	}
	var members []jsonMember
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonSyntaxError(err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("want a key, found %s", describeToken(tok))
		}
		if seen[key] {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		seen[key] = true
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, jsonSyntaxError(err)
		}
		members = append(members, jsonMember{key, value})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, jsonSyntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	return members, nil
}

// decodeObject is decodeMembers as a map.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	members, err := decodeMembers(data)
	if err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(members))
	for _, m := range members {
		out[m.key] = m.value
	}
	return out, nil
}

// decodeStrict decodes the JSON object data into v, a pointer to a struct
// or to a map with string keys, like json.Unmarshal but strictly: each key
// must be one of the struct's JSON field names spelled exactly, and appear
// once. Objects in struct fields (directly, through a pointer or in a
// slice) and in map fields are decoded the same way.
func decodeStrict(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic("decodeStrict: not a pointer")
	}
	return decodeStrictValue(data, rv.Elem(), "")
}

// decodeStrictValue decodes data into v; path names v in errors ("a.b.").
func decodeStrictValue(data []byte, v reflect.Value, path string) error {
	t := v.Type()
	switch {
	case t.Kind() == reflect.Struct:
		members, err := decodeMembers(data)
		if err != nil {
			return prefixPath(path, err)
		}
		fields := jsonFieldIndex(t)
		for _, m := range members {
			i, ok := fields[m.key]
			if !ok {
				return unknownField(path, m.key, fields)
			}
			if err := decodeStrictValue(m.value, v.Field(i), path+m.key+"."); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		if isJSONNull(data) {
			v.SetZero()
			return nil
		}
		p := reflect.New(t.Elem())
		if err := decodeStrictValue(data, p.Elem(), path); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		var items []json.RawMessage
		if err := json.Unmarshal(data, &items); err != nil {
			return prefixPath(path, err)
		}
		if items == nil {
			v.SetZero()
			return nil
		}
		s := reflect.MakeSlice(t, len(items), len(items))
		for i, item := range items {
			if err := decodeStrictValue(item, s.Index(i), fmt.Sprintf("%s%d.", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && !isJSONNull(data):
		if _, err := decodeMembers(data); err != nil { // duplicates refused
			return prefixPath(path, err)
		}
	}
	if err := json.Unmarshal(data, v.Addr().Interface()); err != nil {
		return prefixPath(path, err)
	}
	return nil
}

// jsonFieldIndex maps each JSON name of a struct's fields to the field's
// index, as encoding/json names them: the tag's name, or the field's.
func jsonFieldIndex(t reflect.Type) map[string]int {
	fields := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fields[name] = i
	}
	return fields
}

// unknownField is the error for a key no field has, pointing out a known
// name it differs from only in case.
func unknownField(path, key string, fields map[string]int) error {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return fmt.Errorf("field %q must be spelled %q", path+key, path+name)
		}
	}
	return fmt.Errorf("unknown field %q", path+key)
}

func prefixPath(path string, err error) error {
	if path == "" {
		return err
	}
	return fmt.Errorf("%s: %w", strings.TrimSuffix(path, "."), err)
}

func isJSONNull(data []byte) bool { return string(bytes.TrimSpace(data)) == "null" }

func jsonSyntaxError(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF // EOF here means the object was cut short
	}
	return err
}

func describeToken(tok json.Token) string {
	switch tok := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", string(tok))
	case string:
		return "a string"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}
