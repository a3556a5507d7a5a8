//! H.245 control messages the calls need, and the H.460.19 traversal parameters (being
//! written).
