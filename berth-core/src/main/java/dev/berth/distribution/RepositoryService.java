package dev.berth.distribution;

import dev.berth.metadata.Database;
import dev.berth.metadata.RepositoryDao;
import dev.berth.metadata.TagDao;
import dev.berth.oci.RepositoryName;
import java.util.List;
import java.util.OptionalLong;

/** Listings: the catalog of repositories and a repository's tags, in lexical order. */
public final class RepositoryService {
  private final Database database;
  private final RepositoryDao repositories;
  private final TagDao tags;

  public RepositoryService(Database database, RepositoryDao repositories, TagDao tags) {
    this.database = database;
    this.repositories = repositories;
    this.tags = tags;
  }

  public List<String> catalog(String last, int limit) {
    return database.read(c -> repositories.list(c, last, limit));
  }

  /** Tags after {@code last}; NAME_UNKNOWN when the repository does not exist. */
  public List<String> tags(RepositoryName repository, String last, int limit) {
    return database.read(c -> {
      OptionalLong id = repositories.findId(c, repository.value());
      if (id.isEmpty()) {
        throw ManifestService.nameUnknown(repository);
      }
      return tags.list(c, id.getAsLong(), last, limit);
    });
  }
}
