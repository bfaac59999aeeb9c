"""What the data is: the event on the wire and as a message, the SLO spec and the policy, prices. No I/O; imports nothing
of ours."""
