package ssh
import ("testing";"context";"time"
	"github.com/stewardhq/steward/targets/machine")
func TestZZ(t *testing.T){
	h := startHosts(t, 1)[0]
	tr := dialHost(t, h, nil)
	c,_ := tr.connect(context.Background())
	s,_ := c.client.NewSession()
	s.Start("exec sleep 5")
	time.Sleep(300*time.Millisecond)
	t.Log("signal:", s.Signal("KILL"))
	t0:=time.Now()
	t.Log(s.Wait(), time.Since(t0))
	_ = machine.Cmd{}
	t.Log(h.Log())
}
