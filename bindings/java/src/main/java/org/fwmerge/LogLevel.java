package org.fwmerge;

/** Severity of a library log line (fw_log_level: 0, 1, 2 in declaration order). */
public enum LogLevel {
  DEBUG,
  INFO,
  WARN
}
