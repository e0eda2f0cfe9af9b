"""How nodes reach each other: the Network seam, its live (sockets on loopback) and virtual (in-process) transports,
HTTP on a node, and what the wire says.

    network          the `Network` seam and `LiveNetwork`: Hypercorn servers and real UDP on loopback
    virtual_network  `VirtualNetwork`: in-process delivery with modelled link latency, for virtual time
    http             `HttpRequest`, `HttpResponse` and `Routes`, a node's table of endpoints, served both ways
    addresses        the address plan: which 127.0.N.x each part of the cloud listens on
    outside          calls from outside the cloud (a user's program), told apart and counted
    protocol         how an AWS SDK reads an error reply, for the protocols this cloud speaks
"""
