package machine

import "github.com/stewardhq/steward/reconcile"

// Internals the external tests (package machine_test) use.
var ObjName = objName

func DecodeAll(objs []*reconcile.Object) error {
	_, err := decodeAll(objs)
	return err
}
