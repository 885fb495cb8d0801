
m
systems
user
t
	assistant2c (9333333Ó?HRxXr{"type":"json_object"}z-[{"type":"function","function":{"name":"f"}}]‚"none"Šu’
kvš{"thinking":{"type":"enabled"}}