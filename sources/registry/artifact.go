package registry

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// options are the remote options of one call: the Client's transport
// (rate limits, retries, insecure registries) and credentials.
func (c *Client) options(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(c.rt),
		remote.WithAuthFromKeychain(c.keys),
		remote.WithUserAgent(c.opts.UserAgent),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
	}
}

func (c *Client) ref(image string) (name.Reference, error) {
	var opts []name.Option
	if c.rt.allowed[registryHost(image)] {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(image, opts...)
	if err != nil {
		return nil, &Error{Image: image, Op: "parse", Err: err}
	}
	return r, nil
}

// Image returns the image (or artifact) ref names: repository:tag or
// repository@digest. Its blobs are read when used.
func (c *Client) Image(ctx context.Context, ref string) (v1.Image, error) {
	r, err := c.ref(ref)
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(r, c.options(ctx)...)
	if err != nil {
		return nil, c.wrap(ref, "read", err)
	}
	return img, nil
}

// Write pushes img as ref (repository:tag).
func (c *Client) Write(ctx context.Context, ref string, img v1.Image) error {
	r, err := c.ref(ref)
	if err != nil {
		return err
	}
	if err := remote.Write(r, img, c.options(ctx)...); err != nil {
		return c.wrap(ref, "push", err)
	}
	return nil
}

// Tag points repository:tag at the manifest repository@digest, which
// must exist.
func (c *Client) Tag(ctx context.Context, repository, digest, tag string) error {
	from, err := c.ref(repository + "@" + digest)
	if err != nil {
		return err
	}
	desc, err := remote.Get(from, c.options(ctx)...)
	if err != nil {
		return c.wrap(repository, "read "+digest, err)
	}
	to, err := c.ref(repository + ":" + tag)
	if err != nil {
		return err
	}
	if err := remote.Tag(to.(name.Tag), desc, c.options(ctx)...); err != nil {
		return c.wrap(repository, "tag "+tag, err)
	}
	return nil
}
