package dev.berth.jobs;

import java.util.Objects;
import java.util.Optional;

/** Which jobs {@link JobQueue#list} returns: empty fields match every job. */
public record JobFilter(Optional<String> type, Optional<JobState> state) {
  public static final JobFilter ALL = new JobFilter(Optional.empty(), Optional.empty());

  public JobFilter {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(state, "state");
  }

  public JobFilter withType(String jobType) {
    return new JobFilter(Optional.of(jobType), state);
  }

  public JobFilter withState(JobState jobState) {
    return new JobFilter(type, Optional.of(jobState));
  }
}
