//! H.225.0 call signalling: the H323-UserInformation carried in the Q.931 User-user IE
//! (being written).
