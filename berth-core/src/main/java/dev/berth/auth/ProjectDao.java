package dev.berth.auth;

import dev.berth.metadata.Database;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/** Projects and their members. */
public final class ProjectDao {
  public record ProjectRow(long id, String name, boolean isPublic) {}

  /** A member: a user or a group (by name), with a role. */
  public record Member(String type, String name, Role role) {
    public static final String USER = "user";
    public static final String GROUP = "group";
  }

  public Optional<ProjectRow> find(Connection c, String name) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("SELECT id, name, public FROM projects WHERE name = ?")) {
      p.setString(1, name);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next()
            ? Optional.of(new ProjectRow(rs.getLong(1), rs.getString(2), rs.getBoolean(3)))
            : Optional.empty();
      }
    }
  }

  /** Creates a project unless it exists; returns its id either way. */
  public long getOrCreate(Connection c, String name, boolean isPublic) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("INSERT INTO projects (name, public, created_at) VALUES (?, ?, ?)"
            + " ON CONFLICT (name) DO NOTHING")) {
      p.setString(1, name);
      p.setBoolean(2, isPublic);
      p.setLong(3, System.currentTimeMillis());
      p.executeUpdate();
    }
    return find(c, name).orElseThrow().id();
  }

  public boolean setPublic(Connection c, String name, boolean isPublic) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("UPDATE projects SET public = ? WHERE name = ?")) {
      p.setBoolean(1, isPublic);
      p.setString(2, name);
      return p.executeUpdate() > 0;
    }
  }

  public boolean delete(Connection c, String name) throws SQLException {
    Database.accountsChanged(c); // account caches on every node drop what they hold
    try (PreparedStatement p = c.prepareStatement("DELETE FROM projects WHERE name = ?")) {
      p.setString(1, name);
      return p.executeUpdate() > 0;
    }
  }

  public List<ProjectRow> list(Connection c, String last, int limit) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "SELECT id, name, public FROM projects WHERE name > ? ORDER BY name LIMIT ?")) {
      p.setString(1, last == null ? "" : last);
      p.setInt(2, limit);
      List<ProjectRow> rows = new ArrayList<>();
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          rows.add(new ProjectRow(rs.getLong(1), rs.getString(2), rs.getBoolean(3)));
        }
      }
      return rows;
    }
  }

  /** Adds a member or changes its role. */
  public void putMember(Connection c, long projectId, Member member) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "INSERT INTO project_members (project_id, member_type, member_name, role) VALUES (?, ?, ?, ?)"
            + " ON CONFLICT (project_id, member_type, member_name) DO UPDATE SET role = excluded.role")) {
      p.setLong(1, projectId);
      p.setString(2, member.type());
      p.setString(3, member.name());
      p.setString(4, member.role().value());
      p.executeUpdate();
    }
  }

  public boolean removeMember(Connection c, long projectId, String type, String name)
      throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "DELETE FROM project_members WHERE project_id = ? AND member_type = ? AND member_name = ?")) {
      p.setLong(1, projectId);
      p.setString(2, type);
      p.setString(3, name);
      return p.executeUpdate() > 0;
    }
  }

  public List<Member> members(Connection c, long projectId) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "SELECT member_type, member_name, role FROM project_members WHERE project_id = ?"
            + " ORDER BY member_type, member_name")) {
      p.setLong(1, projectId);
      List<Member> members = new ArrayList<>();
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          members.add(new Member(rs.getString(1), rs.getString(2), Role.parse(rs.getString(3))));
        }
      }
      return members;
    }
  }

  /**
   * The roles a user holds in a project, directly or through one of its groups; empty when it
   * is no member.
   */
  public List<Role> roles(Connection c, long projectId, String username, Collection<String> groups)
      throws SQLException {
    StringBuilder sql = new StringBuilder(
        "SELECT role FROM project_members WHERE project_id = ? AND ((member_type = 'user'"
            + " AND member_name = ?)");
    if (!groups.isEmpty()) {
      sql.append(" OR (member_type = 'group' AND member_name IN (")
          .append("?,".repeat(groups.size() - 1))
          .append("?))");
    }
    sql.append(")");
    try (PreparedStatement p = c.prepareStatement(sql.toString())) {
      p.setLong(1, projectId);
      p.setString(2, username);
      int index = 3;
      for (String group : groups) {
        p.setString(index++, group);
      }
      List<Role> roles = new ArrayList<>();
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          roles.add(Role.parse(rs.getString(1)));
        }
      }
      return roles;
    }
  }
}
