DROP TABLE minigroups;
