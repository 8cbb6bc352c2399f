// Command broken does not compile: the image builder must report go build's
// error.
package main

func main() { notDefined() }
