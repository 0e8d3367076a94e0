//! What an NVIDIA GPU's Xid error code means (NVIDIA's Xid catalog), and whether ECS Managed
//! Instances replace an instance for it (AWS's "GPU auto repair" list of monitored codes).

/// The Xid code of a health check's reason (`XID_46`).
pub fn code(reason: &str) -> Option<u32> {
    reason.trim().strip_prefix("XID_")?.parse().ok()
}

/// What the Xid means, in NVIDIA's words, shortened; `None` for a code not listed here.
pub fn meaning(code: u32) -> Option<&'static str> {
    Some(match code {
        13 => "graphics engine exception: usually an application fault (an out-of-bounds access or an illegal instruction), rarely hardware",
        31 => "GPU memory page fault: an illegal address access, usually an application bug",
        43 => "the GPU stopped processing after a software fault of the application; the GPU stays healthy",
        45 => "preemptive cleanup after earlier errors (an aborted application, a GPU reset)",
        46 => "GPU stopped processing (a GPU timeout): the GPU needs a reset",
        48 => "double-bit ECC error: an uncorrectable memory error; a GPU reset or a reboot clears it",
        54 => "auxiliary power is not connected",
        62 => "internal micro-controller halt",
        63 => "GPU memory remapping (page retirement) event",
        64 => "GPU memory remapping failure: the GPU needs a reset",
        74 => "NVLink error: a link to another GPU or NVSwitch failed; a GPU reset or a reboot is needed",
        79 => "the GPU has fallen off the bus: not accessible, usually a hardware fault of the PCIe link",
        92 => "high single-bit ECC error rate",
        94 => "contained memory error: one application was affected; reset the GPU when convenient",
        95 => "uncontained memory error: the GPU must be reset before applications can restart",
        109 => "context switch timeout",
        110 => "security fault",
        119 => "GSP RPC timeout: the GPU's system processor stopped answering; a reset may be needed",
        120 => "GSP error: an error in the code running on the GPU's system processor",
        136 => "link training failed",
        140 => "ECC unrecovered error",
        143 => "GPU initialization error",
        _ => return None,
    })
}

/// Xid codes for which ECS Managed Instances mark the instance impaired and replace it (GPU
/// auto repair, unless `autoRepairConfiguration` turns it off).
pub const REPAIRED: [u32; 18] = [
    46, 48, 54, 62, 64, 74, 79, 95, 109, 110, 136, 140, 142, 143, 151, 155, 156, 158,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_explains_xid_codes() {
        assert_eq!(code("XID_46"), Some(46));
        assert_eq!(code("Daemon task: x is unhealthy"), None);
        assert!(meaning(46).unwrap().contains("reset"));
        assert!(meaning(79).unwrap().contains("fallen off the bus"));
        assert_eq!(meaning(9999), None);
        assert!(REPAIRED.contains(&46) && !REPAIRED.contains(&13));
    }
}
