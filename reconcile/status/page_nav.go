package status

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// The status page shows a page of units at a time, failing units first,
// grouped by state (the default) or by target, and takes the filters of
// /api/status (unit, state, target): an estate of 10 000 units renders a
// page of them, not all.

// defaultPerPage and maxPerPage bound the units on one page.
const (
	defaultPerPage = 100
	maxPerPage     = 1000
)

// pageParams are the page's URL parameters besides refresh and expand.
type pageParams struct {
	Query
	group string // "state", "target" or "none"
	page  int    // 1-based
	per   int
}

func parsePageParams(v url.Values) (pageParams, error) {
	q, err := ParseQuery(v)
	if err != nil {
		return pageParams{}, err
	}
	p := pageParams{Query: q, group: "state", page: 1, per: defaultPerPage}
	p.Offset, p.Limit = 0, 0 // the page counts in pages
	if g := v.Get("group"); g != "" {
		if g != "state" && g != "target" && g != "none" {
			return p, fmt.Errorf("group: want state, target or none, found %q", g)
		}
		p.group = g
	}
	for _, f := range []struct {
		name string
		into *int
	}{{"page", &p.page}, {"per", &p.per}} {
		if s := v.Get(f.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return p, fmt.Errorf("%s: want a number >= 1, found %q", f.name, s)
			}
			*f.into = n
		}
	}
	p.per = min(p.per, maxPerPage)
	return p, nil
}

// query returns the store query and order of the page asked for.
func (p pageParams) query() (Query, Order) {
	q := p.Query
	q.Offset, q.Limit = (p.page-1)*p.per, p.per
	if p.group == "target" {
		return q, ByTarget
	}
	return q, ByState
}

// link returns the page's URL with p changed by edit.
func (p pageParams) link(edit func(*pageParams)) string {
	c := p
	c.Units, c.States, c.Targets = append([]string(nil), p.Units...), append([]string(nil), p.States...), append([]string(nil), p.Targets...)
	edit(&c)
	v := c.Query.Encode()
	if c.group != "state" {
		v.Set("group", c.group)
	}
	if c.page > 1 {
		v.Set("page", strconv.Itoa(c.page))
	}
	if c.per != defaultPerPage {
		v.Set("per", strconv.Itoa(c.per))
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}

// navView is the page's navigation: what is shown of how many, the pages
// around it, the filters in force and the links that change them.
type navView struct {
	First, Last, Matched int // 1-based range shown, of Matched
	Page, Pages          int
	Prev, Next           string // links, "" at either end
	Group                string
	ByState, ByTarget    string // links regrouping the page
	Filtered             bool
	Unit, State, Target  string // the filters, as typed
	Clear                string // link without filters
	StateLinks           []stateLink
}

type stateLink struct {
	State, Href string
	N           int
	Active      bool
}

func newNavView(p pageParams, res Result) navView {
	n := navView{Matched: res.Matched, Page: p.page, Group: p.group, Filtered: p.Filtered(),
		Unit: strings.Join(p.Units, ","), State: strings.Join(p.States, ","), Target: strings.Join(p.Targets, ",")}
	n.Pages = max(1, (res.Matched+p.per-1)/p.per)
	if len(res.Units) > 0 {
		n.First = (p.page-1)*p.per + 1
		n.Last = n.First + len(res.Units) - 1
	}
	if p.page > 1 {
		n.Prev = p.link(func(c *pageParams) { c.page = min(p.page-1, n.Pages) })
	}
	if p.page < n.Pages {
		n.Next = p.link(func(c *pageParams) { c.page = p.page + 1 })
	}
	n.ByState = p.link(func(c *pageParams) { c.group, c.page = "state", 1 })
	n.ByTarget = p.link(func(c *pageParams) { c.group, c.page = "target", 1 })
	n.Clear = p.link(func(c *pageParams) { c.Query, c.page = Query{}, 1 })
	for _, st := range States {
		if res.Counts[st] == 0 {
			continue
		}
		active := len(p.States) == 1 && p.States[0] == st
		n.StateLinks = append(n.StateLinks, stateLink{State: st, N: res.Counts[st], Active: active,
			Href: p.link(func(c *pageParams) {
				c.States, c.page = []string{st}, 1
				if active {
					c.States = nil
				}
			})})
	}
	return n
}

// groupHeadings marks the first unit of each group with the group's name.
func groupHeadings(units []unitView, group string) {
	prev := "\x00"
	for i := range units {
		var key string
		switch group {
		case "state":
			key = units[i].State
		case "target":
			key = units[i].Target
		default:
			return
		}
		if key != prev {
			units[i].Group = key
			prev = key
		}
	}
}
