package main

import (
	gogit "github.com/go-git/go-git/v5"

	"github.com/stewardhq/steward/reconcile"
)

// stackIdentity is the identity a stack without name: gets, recorded in
// every inventory: the repository URL and the stack's path in it. With
// --repo that is the URL followed; in a working tree, its origin remote's
// URL (so that `steward diff --live` here and a daemon following the same
// repository agree), else file:// and its top directory. "" outside a git
// repository.
func (w *workspace) stackIdentity() string {
	if w.stackID != "" {
		return w.stackID
	}
	top, rel, err := gitTop(w.root)
	if err != nil {
		return ""
	}
	url := "file://" + top
	if repo, err := gogit.PlainOpenWithOptions(top, &gogit.PlainOpenOptions{EnableDotGitCommonDir: true}); err == nil {
		if origin, err := repo.Remote("origin"); err == nil && len(origin.Config().URLs) > 0 {
			url = origin.Config().URLs[0]
		}
	}
	return reconcile.StackIdentity(url, rel)
}
