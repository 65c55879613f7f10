/** At most this many cameras in one simulated building. */
export const MAX_SIM_CAMERAS = 256;
