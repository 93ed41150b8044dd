# Networks: address ranges that are not devices in the inventory — data
# centre server farms, IT infrastructure, vendor VPN tunnels, the internet.
# Flows may reference them like zones (network.X), but Ward does not place
# devices in them or push VLANs for them.

network "ehr_datacenter" {
  description = "Main data centre: EHR (Epic), interface engine, RIS, pharmacy, print and application servers"
  cidrs       = ["10.10.0.0/16"]
}

network "infrastructure_services" {
  description = "DNS resolvers, NTP servers, DHCP, PKI (CRL/OCSP)"
  cidrs       = ["10.250.0.0/24"]
}

network "directory_services" {
  description = "Active Directory domain controllers"
  cidrs       = ["10.250.2.0/27"]
}

network "siem_collectors" {
  description = "Syslog/SIEM collectors (also the source of quarantine alerts)"
  cidrs       = ["10.250.10.0/24"]
}

network "netops_monitoring" {
  description = "Network operations monitoring pollers"
  cidrs       = ["10.250.11.0/28"]
}

network "voice_core" {
  description = "Call manager and voice gateways"
  cidrs       = ["10.250.20.0/24"]
}

network "facilities_office" {
  description = "Facilities engineering PCs (IT-managed, not in the device inventory)"
  cidrs       = ["10.30.5.0/24"]
}

network "security_office" {
  description = "Security operations desk and badging office PCs"
  cidrs       = ["10.30.6.0/24"]
}

# Isolated devices can still reach this network: NAC portal, patch and
# antivirus mirrors, the biomed remediation jump host (quarantine.hcl).
network "remediation" {
  description = "Quarantine remediation services"
  cidrs       = ["10.250.99.0/24"]
}

# Vendor VPNs: each manufacturer's site-to-site tunnel is NATed into its own
# /24 inside 172.20.0.0/22 (BD is outside the block, added later), so a flow
# can grant one vendor access to its own equipment and nothing else.
# Every network named vendor_* must only appear in flows with an expiry date.
network "vendor_vpn_philips" {
  description = "Philips Remote Services tunnel (PIC iX, IntelliVue, Azurion)"
  cidrs       = ["172.20.0.0/24"]
}

network "vendor_vpn_ge" {
  description = "GE Healthcare InSite tunnel (CT, CARESCAPE)"
  cidrs       = ["172.20.1.0/24"]
}

network "vendor_vpn_siemens" {
  description = "Siemens Healthineers Smart Remote Services tunnel (MAGNETOM, Atellica)"
  cidrs       = ["172.20.2.0/24"]
}

network "vendor_vpn_roche" {
  description = "Roche cobas infinity / remote service tunnel (core lab)"
  cidrs       = ["172.20.3.0/24"]
}

network "vendor_vpn_bd" {
  description = "BD remote support tunnel (Alaris Systems Manager, Pyxis)"
  cidrs       = ["172.20.4.0/24"]
}

network "public_dns" {
  description = "Public filtering resolvers used by the guest network (Quad9)"
  cidrs       = ["9.9.9.9/32", "149.112.112.112/32"]
}

# Only the guest zone may reach this. Guardrails deny any flow *from* it.
#
# "The internet" is the public address space: everything except private
# (RFC 1918), carrier-grade NAT, loopback, link-local and multicast/reserved
# ranges. Were it 0.0.0.0/0, a flow from guests to the internet would also
# let guests reach the EHR data centre and every clinical zone, because
# 0.0.0.0/0 contains them. Generated with Python's ipaddress.address_exclude.
network "internet" {
  description = "Public IPv4 address space (all but private, CGNAT, loopback, link-local, multicast and reserved)"
  cidrs = [
    "1.0.0.0/8", "2.0.0.0/7", "4.0.0.0/6", "8.0.0.0/7",
    "11.0.0.0/8", "12.0.0.0/6", "16.0.0.0/4", "32.0.0.0/3",
    "64.0.0.0/3", "96.0.0.0/6", "100.0.0.0/10", "100.128.0.0/9",
    "101.0.0.0/8", "102.0.0.0/7", "104.0.0.0/5", "112.0.0.0/5",
    "120.0.0.0/6", "124.0.0.0/7", "126.0.0.0/8", "128.0.0.0/3",
    "160.0.0.0/5", "168.0.0.0/8", "169.0.0.0/9", "169.128.0.0/10",
    "169.192.0.0/11", "169.224.0.0/12", "169.240.0.0/13", "169.248.0.0/14",
    "169.252.0.0/15", "169.255.0.0/16", "170.0.0.0/7", "172.0.0.0/12",
    "172.32.0.0/11", "172.64.0.0/10", "172.128.0.0/9", "173.0.0.0/8",
    "174.0.0.0/7", "176.0.0.0/4", "192.0.0.0/9", "192.128.0.0/11",
    "192.160.0.0/13", "192.169.0.0/16", "192.170.0.0/15", "192.172.0.0/14",
    "192.176.0.0/12", "192.192.0.0/10", "193.0.0.0/8", "194.0.0.0/7",
    "196.0.0.0/6", "200.0.0.0/5", "208.0.0.0/4",
  ]
}
