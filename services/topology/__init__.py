"""The cloud put together: which nodes exist, where they listen and who calls whom.

cloud         `Cloud`: the DNS control plane, DynamoDB, EC2, Lambda and declared services, started and stopped
declared      services a scenario declares (STS, Redshift, Connect, ...): their calls and caches
nlb           a Network Load Balancer in front of declared services, with its health checks
nlb_health    the NLB's health rules (thresholds, velocity)
nginx         real nginx as the DynamoDB routers' load balancer
"""
